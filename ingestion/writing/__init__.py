"""The write path: validated records classified against what is stored and written exactly
once (`writer`), by one of the write strategies (`strategies`), with the table's requests and
their retries (`store`, `backoff`), the writer lease (`lease`) and the report (`ingest_report`)."""
