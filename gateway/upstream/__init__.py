"""One backend: how it is reached (`links`), its sessions and their pool, its catalog, its
events, and the fleet of running backends."""
