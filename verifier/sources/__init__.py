"""Sources: every read of files, registries and OCI layouts (I/O lives here, nowhere else)."""
