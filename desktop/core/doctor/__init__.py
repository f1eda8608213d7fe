"""doctor: examine an SSE server on purpose and say what is wrong and how to fix it."""
