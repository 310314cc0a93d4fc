"""Redis Streams request/reply between the gateway and the engine, and message codecs."""
