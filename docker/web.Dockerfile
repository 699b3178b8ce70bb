# The web app: frontend/dist built with pnpm, served by nginx with the project's config (nginx/*.template)
# proxying /api/ to the `api` service and /agent/ to the `agent` service. Build from the repository root:
#   docker build -f docker/web.Dockerfile -t aitrader-web .

# 1. Build the React app (pnpm version = "packageManager" of frontend/package.json).
FROM node:20.19.2-bookworm-slim AS web-build
RUN npm install -g --no-audit --no-fund pnpm@12.4.2
WORKDIR /src/frontend
COPY frontend/package.json frontend/pnpm-lock.yaml frontend/pnpm-workspace.yaml frontend/.pnpmfile.cjs ./
RUN pnpm install --frozen-lockfile
COPY frontend/ ./
RUN pnpm run build

# 2. Render the nginx site for the compose network (same templates and renderer as nginx/build.sh and the tests).
FROM python:3.11.13-slim-bookworm AS nginx-config
COPY nginx/ /src/nginx/
RUN python /src/nginx/render.py --out /out \
      --set LISTEN=8080 \
      --set WEB_ROOT=/usr/share/nginx/html \
      --set API_UPSTREAM=api:8000 \
      --set AGENT_UPSTREAM=agent:8001 \
      --set TLS_LISTEN=8443 \
      --set TLS_CERT=/etc/aitrader/tls/fullchain.pem \
      --set TLS_KEY=/etc/aitrader/tls/privkey.pem

# 3. Serve.
FROM nginx:1.28.0-bookworm
RUN rm -f /etc/nginx/conf.d/default.conf
COPY --from=nginx-config /out/aitrader.conf /etc/nginx/conf.d/aitrader.conf
# The HTTPS site, used by the `web-tls` compose service (docker-compose.yml, profile tls) in place of the above.
COPY --from=nginx-config /out/aitrader-tls.conf /etc/nginx/aitrader-tls.conf
COPY --from=web-build /src/frontend/dist/ /usr/share/nginx/html/
EXPOSE 8080 8443
HEALTHCHECK --interval=10s --timeout=4s --start-period=10s --retries=5 \
  CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/index.html"]
