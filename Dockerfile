# The signal-job CLI with the bundled example: `docker build -t mlops-task . && docker run --rm mlops-task`.
# With extras: `docker build --build-arg EXTRAS=cloud,dask,mlflow -t mlops-task .` (docs/docker.md).

# Stage 1: build the project's own wheel from pyproject.toml; its dependencies come from there too.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY signal_job/ signal_job/
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
# Bytecode is compiled at build time (below): the non-root user could not write it at run time.
# SIGNAL_JOB_IMAGE tells the job it runs in this image: a missing extra's message then says how
# to rebuild the image with it, not how to pip install it.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SIGNAL_JOB_IMAGE=1
# COPY, not RUN --mount=from=build: podman's build cache does not see a mounted stage change.
COPY --from=build /wheels/ /tmp/wheels/
# The optional extras to install, comma-separated: `--build-arg EXTRAS=cloud,dask,mlflow`. None by
# default, so the default image stays as small as the job alone; an unknown name fails the build.
ARG EXTRAS=""
# pip compiles what it installs. The official slim images ship the standard library without
# bytecode: compiling it here (~30 MB) saves recompiling it on every run.
RUN for extra in $(echo "$EXTRAS" | tr , ' '); do \
      case $extra in cloud|dask|mlflow|plot) ;; *) echo "EXTRAS: no extra '$extra' (cloud, dask, mlflow, plot)" >&2; exit 1 ;; esac; \
    done \
 && wheel=$(echo /tmp/wheels/*.whl) \
 && pip install --no-cache-dir --compile --disable-pip-version-check "$wheel${EXTRAS:+[$EXTRAS]}" \
 && rm -r /tmp/wheels \
 && python -m compileall -q -j 0 "$(python -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')" \
 && useradd --uid 10001 --user-group --no-create-home --home-dir /app --shell /usr/sbin/nologin app

# The bundled example. The inputs are root's and read-only; the folder is world-writable and sticky,
# like /tmp, so the image's user and any `--user uid:gid` can write metrics.json and run.log here.
WORKDIR /app
COPY --chmod=0644 config.yaml data.csv ./
RUN chmod 1777 /app

USER 10001:10001
ENTRYPOINT ["signal-job"]
CMD ["run"]
