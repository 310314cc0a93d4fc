"""What the gateway does for a request, one module per area: parse, send, present."""
