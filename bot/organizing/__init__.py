"""What organizers do, below both faces: the chat's commands and the desk call the same
functions, so they give the same counts, the same refusals and the same audit entries."""
