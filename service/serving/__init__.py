"""The model side: the store on disk, a loaded version, its micro-batcher and the registry of
served versions."""
