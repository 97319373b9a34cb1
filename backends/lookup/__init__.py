"""lookup: SQL lookups and semantic document search over a real database.

SQLite with an embedded vector index (sqlite-vec) by default; the store and the embedder sit
behind small interfaces (`store.Store`, `embeddings.Embedder`).
"""
