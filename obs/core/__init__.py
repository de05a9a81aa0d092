"""What every part of the toolkit stands on: problems and errors, the project and its content, the compiled
paths, schemas, serialisation and file writing. Nothing here imports the project's content."""
