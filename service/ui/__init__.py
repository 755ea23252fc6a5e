"""What a person sees in a browser: the playground page and the Swagger UI at /docs."""
