# The agent (LLM analysis, chat, tools). Build from the repository root:
#   docker build -f docker/agent.Dockerfile -t aitrader-agent .
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Settings come from the container environment (compose's env_file), never from a file baked into the image.
    AITRADER_ENV_FILE=/dev/null \
    AGENT_HOST=0.0.0.0 \
    AGENT_PORT=8001

RUN groupadd --system --gid 10001 aitrader \
 && useradd --system --uid 10001 --gid aitrader --home-dir /app --no-create-home --shell /usr/sbin/nologin aitrader

WORKDIR /app
# Dependencies first: this layer is rebuilt only when requirements.txt changes (and is shared with the API image).
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY shared/ shared/
COPY migrations/ migrations/
COPY api_server/ api_server/
COPY agent/ agent/
COPY okxsim/ okxsim/

USER aitrader:aitrader
EXPOSE 8001
HEALTHCHECK --interval=10s --timeout=4s --start-period=20s --retries=5 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('AGENT_PORT', '8001'), timeout=3)"]
# The same command as `make agent` and the tests.
CMD ["python", "-m", "agent"]
