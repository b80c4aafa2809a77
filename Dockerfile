# Lunas: one image for the web, the worker and the release step (compose.yaml, docs/DEPLOY.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLASK_APP=wsgi \
    BIND_HOST=0.0.0.0 \
    PORT=5000

WORKDIR /srv/lunas

# The dependency layer: rebuilt only when pyproject.toml changes. The package is installed
# from a placeholder so that pip resolves its dependencies, then removed: the code below runs
# from this folder (templates, static files and migrations live beside it).
COPY pyproject.toml README.md ./
RUN mkdir app && touch app/__init__.py \
    && pip install . \
    && pip uninstall -y lunas \
    && rm -rf app build *.egg-info

COPY . .
RUN pybabel -q compile -d translations \
    && useradd --system --uid 10001 --home-dir /srv/lunas lunas \
    && mkdir -p instance/media /var/lib/lunas/metrics \
    && chown -R lunas:lunas instance /var/lib/lunas

USER lunas
EXPOSE 5000
# The web process; compose.yaml's worker and release run `flask worker` and
# `flask db upgrade` from the same image.
CMD ["gunicorn", "wsgi:app"]
