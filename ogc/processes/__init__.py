"""OGC API – Processes on top of ``spatial``'s registry: descriptions, jobs, results."""
