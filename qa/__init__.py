"""Quality assurance: agreement, cross-check consistency, personnel swaps, allocation, MOS and sample size."""
