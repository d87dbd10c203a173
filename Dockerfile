# Builds both commands into one small image: `dialer` and `worker`.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /out/dialer ./cmd/dialer && CGO_ENABLED=0 go build -o /out/worker ./cmd/worker

# The nonroot variant runs every command as user nonroot (uid 65532), not root.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/dialer /out/worker /usr/local/bin/
COPY campaigns /campaigns
USER nonroot:nonroot
ENTRYPOINT ["dialer"]
