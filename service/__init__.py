"""HTTP service for the sentiment and next-word models: `python -m service`."""
