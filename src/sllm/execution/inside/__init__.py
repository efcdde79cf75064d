"""Code that runs inside the sandbox (stdlib only, imported there as the package `inside`)."""
