"""The API's routers, one per resource; each is thin: check the input, call the Client, shape the reply."""
