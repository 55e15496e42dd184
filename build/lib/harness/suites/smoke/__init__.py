"""The smoke suite: the declared post-deploy checks, one test each."""
