"""The student proxy: trusted checks call into the sandboxed kernel and get data back."""
