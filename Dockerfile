# Annotation server image: the toolkit without torch (extras app + qa), run as an unprivileged user.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg postgresql-client \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/emotions
COPY pyproject.toml README.md alembic.ini ./
COPY core core
COPY migrations migrations
COPY crawler crawler
COPY cleaning cleaning
COPY annotation_app annotation_app
COPY qa qa
COPY dataset dataset
COPY model model
RUN pip install --no-cache-dir '.[app,qa]' && useradd --create-home emotions
USER emotions
ENV EMOTIONS_DATA_DIR=/data
EXPOSE 8000
ENTRYPOINT ["emotions"]
CMD ["app", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "4"]
