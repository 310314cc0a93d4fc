"""Sign-in policy: login tokens, PINs and sessions. Pure."""
