"""Explanations of sentiment answers: the text's units and their occlusion weights."""
