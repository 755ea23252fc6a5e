"""Training pipeline: IMDB reviews to a next-word language model and a sentiment classifier."""
