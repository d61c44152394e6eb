"""The read path: the product's access patterns, declared once (`access_patterns`), the
readers that serve them (`queries`), resumable pages (`query_pages`), the one ownership check
every item read passes (`ownership`), records as text (`query_output`) and the names a query
that found nothing can suggest (`suggestions`)."""
