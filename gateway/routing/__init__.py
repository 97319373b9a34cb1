"""Names → backends: the client-visible names (namespaces, the 64-character budget), the route
index built from the backends' catalogs, and the tool lockfile that guards it."""
