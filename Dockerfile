# procbot: a static binary on a distroless base.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/procbot ./cmd/procbot

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/procbot /usr/local/bin/procbot
# The database lives on a volume; one procbot per database.
ENV PROCBOT_DB_PATH=/var/lib/procbot/procbot.db
VOLUME /var/lib/procbot
USER nonroot
ENTRYPOINT ["/usr/local/bin/procbot"]
CMD ["run"]
