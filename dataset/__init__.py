"""Dataset stage: variants, seeded splits, exports (Parquet/CSV, HF folder, WebDataset), card and statistics."""
