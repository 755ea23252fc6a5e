"""The command-line tool `lstm-service`: score files, evaluate, compare, promote and roll back
model versions, train and serve. Importing the package loads nothing else (Ray workers import
`cli.model` and `cli.ray_engine` alone)."""
