// Command ferretdb runs FerretDB v1 with its SQLite backend for the integration tests.
//
// It exists because the stock command, built from the Go module proxy, panics at start: its version
// file is generated at release time and is not part of the module. Importing the embeddable package
// from our own main module skips that check.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	addr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	sqliteURL := flag.String("sqlite-url", "", "SQLite URI of an existing directory, with a trailing slash (file:/abs/dir/)")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fail(fmt.Errorf("-log-level: %w", err))
	}
	if *sqliteURL == "" {
		fail(fmt.Errorf("-sqlite-url is required"))
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *addr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: *sqliteURL,
	})
	if err != nil {
		fail(err)
	}

	// SIGTERM from `services.sh down` cancels the context; Run then closes the listener and the backend.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	logger.Warn("ferretdb started", "listen", *addr, "sqlite", *sqliteURL)
	if err := f.Run(ctx); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "ferretdb:", err)
	os.Exit(1)
}
