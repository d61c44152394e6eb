"""The read path: a tenant's records by access pattern (`queries`), resumable pages
(`query_pages`), the one ownership check every item read passes (`ownership`), records as text
(`query_output`) and the names a query that found nothing can suggest (`suggestions`)."""
