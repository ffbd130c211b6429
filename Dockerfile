# solidarity-bot: docker build -t solidarity-bot . && docker run --env-file .env solidarity-bot
# Two stages: the first builds a wheel of the bot and its dependencies (compilers stay there);
# the second installs only the wheels and runs as an unprivileged user.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --system --uid 10001 --home-dir /srv/bot --create-home bot
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/*.whl && rm -rf /wheels
WORKDIR /srv/bot
COPY --chown=bot:bot campaigns ./campaigns
# The volume's mount point must belong to the bot, or a fresh volume is root's.
RUN mkdir data && chown bot:bot data
USER bot
# SQLite lives in /srv/bot/data unless DATABASE_URL points at PostgreSQL: mount a volume there.
VOLUME ["/srv/bot/data"]
# Only used in webhook mode (WEBHOOK_URL set); then listen on all interfaces of the container.
ENV WEBHOOK_LISTEN=0.0.0.0 WEBHOOK_PORT=8080
EXPOSE 8080
# In webhook mode the container is healthy while /healthz answers 200; in polling mode there is
# no HTTP server, and the check passes.
HEALTHCHECK --interval=30s --timeout=5s CMD ["python", "-c", "import os, urllib.request; os.environ.get('WEBHOOK_URL') and urllib.request.urlopen('http://127.0.0.1:' + os.environ['WEBHOOK_PORT'] + '/healthz', timeout=4)"]
CMD ["python", "-m", "bot", "run"]
