"""The crawl stage: discover short videos, fetch their metadata and download them politely and resumably."""
