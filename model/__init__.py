"""The model stage: AV-CANet and baselines, EP-CE, metrics, input pipeline, trainer and CLI."""
