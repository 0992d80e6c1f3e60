// Package migrate moves a site's data from one store to another (otpgate
// migrate-store copies the embedded SQLite store to PostgreSQL): every row
// of every table, users with their IDs (sealed TOTP secrets are bound to
// them), checked afterwards by counts and a checksum of what was read on
// one side and written on the other. It holds the one Dump type that every
// store exports and imports, and imports no store.
package migrate

import (
	"context"
	"errors"
	"fmt"
)

// ErrDiffers is returned by Copy when the target, read back after the
// copy, does not hold what was read from the source.
var ErrDiffers = errors.New("the target differs from the source")

// Exporter is a store that can read out every row it holds.
type Exporter interface {
	Export(ctx context.Context) (Dump, error)
}

// Importer is a store that can take every row of an empty store and read
// them back.
type Importer interface {
	Exporter
	// Import writes every row of d into the store, which must be empty
	// (mfa.ErrConflict otherwise); a failed import writes nothing.
	Import(ctx context.Context, d Dump) error
}

// Report is what Copy read from the source and, after the copy, from the
// target; they are equal when the copy succeeded.
type Report struct {
	Source, Target Summary
}

// Copy copies every row of from into to, which must be empty
// (mfa.ErrConflict otherwise), then reads to back and checks that it holds
// exactly what was read (ErrDiffers otherwise). The servers on from should
// be stopped: what they change during the copy is not moved. The report
// holds what was read on each side as far as Copy got.
func Copy(ctx context.Context, from Exporter, to Importer) (Report, error) {
	var r Report
	d, err := from.Export(ctx)
	if err != nil {
		return r, err
	}
	r.Source = d.Summary()
	if err := to.Import(ctx, d); err != nil {
		return r, err
	}
	back, err := to.Export(ctx)
	if err != nil {
		return r, err
	}
	r.Target = back.Summary()
	if r.Target != r.Source {
		return r, fmt.Errorf("migrate: target holds %v after the copy, source %v: %w", r.Target, r.Source, ErrDiffers)
	}
	return r, nil
}
