"""The HTTP and websocket API, the dashboard and the API explorer."""
