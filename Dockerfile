# Two images from one file, sharing the pinned dependency layers:
#   train  the training pipeline   (python -m training), writes versions into /models
#   api    the HTTP service        (python -m service),  serves the newest version in /models
# docker compose builds both (see docker-compose.yml); by hand:
#   docker build --target train -t imdb-lstm-service:train .
#   docker build --target api   -t imdb-lstm-service:api   .

# ---- base: the interpreter and the settings every stage shares ----
FROM python:3.11-slim AS base
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# ---- deps: a virtualenv with the service's pinned packages, and the unprivileged user ----
# Both images start from this stage, so they share its (large) layers on disk.
FROM base AS deps
# Only the requirement files, so that code changes reuse the dependency layers.
COPY requirements/serve.txt requirements/constraints.txt /tmp/requirements/
# TensorFlow's C++ headers (about 290 MB) only serve to compile custom ops: dropped.
RUN python -m venv /opt/venv \
 && pip install --no-cache-dir pip==25.3 \
 && pip install --no-cache-dir -r /tmp/requirements/serve.txt -c /tmp/requirements/constraints.txt \
 && rm -rf /opt/venv/lib/python3.11/site-packages/tensorflow/include
# TF_CPP_MIN_LOG_LEVEL=2 keeps TensorFlow's C++ start-up chatter (CPU features, oneDNN) out of
# the logs. The model store is a volume mounted at /models.
ENV TF_CPP_MIN_LOG_LEVEL=2 \
    MODEL_DIR=/models
# A fixed, unprivileged user (uid 1000). The code stays owned by root, so the app cannot change it.
RUN groupadd --gid 1000 app \
 && useradd --uid 1000 --gid app --create-home --shell /usr/sbin/nologin app \
 && mkdir -p /models \
 && chown app:app /models
WORKDIR /app

# ---- train: python -m training ----
FROM deps AS train
COPY requirements/train.txt /tmp/requirements/
RUN pip install --no-cache-dir -r /tmp/requirements/train.txt -c /tmp/requirements/constraints.txt
# Keras and matplotlib write small config/cache files under HOME; keep them in /tmp so that any
# uid can run the image (compose runs it as the owner of ./model).
ENV KERAS_HOME=/tmp/.keras \
    MPLCONFIGDIR=/tmp/.matplotlib \
    XDG_CACHE_HOME=/cache
RUN mkdir -p /cache && chown app:app /cache
COPY training/ training/
USER app
ENTRYPOINT ["python", "-m", "training", "--model-dir", "/models"]
CMD ["--preset", "full"]

# ---- api: python -m service (the default target) ----
FROM deps AS api
ENV HOST=0.0.0.0 \
    PORT=8000
COPY service/ service/
USER app
EXPOSE 8000
# /health answers while the process runs; /ready (both models loaded) is for callers to wait on,
# so an empty model store keeps the container healthy rather than restarting it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/health\", timeout=4)"]
CMD ["python", "-m", "service"]
