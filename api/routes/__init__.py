"""The API's routes, one module per group of the issue's endpoint list."""
