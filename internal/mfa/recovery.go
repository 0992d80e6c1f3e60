package mfa

import "context"

// RegenerateRecoveryCodes replaces the user's recovery codes with
// RecoveryCodeCount new ones, once the user has shown who it is (see
// Proof), and returns them; only their hashes are kept.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, u User, p Proof) (Result, []string, error) {
	res, err := s.prove(ctx, u, p)
	if err != nil || res.Outcome != OK {
		return res, nil, err
	}
	codes, hashes, err := s.newRecoveryCodes(u.ID)
	if err != nil {
		return Result{}, nil, err
	}
	if err := s.store.ReplaceRecoveryCodes(ctx, u.ID, hashes, s.now()); err != nil {
		return Result{}, nil, err
	}
	s.notify(ctx, Event{Kind: EventRecoveryCodesRenewed, User: u, Addr: p.Addr})
	return res, codes, nil
}

// newRecoveryCodes returns RecoveryCodeCount new recovery codes for the
// user and the hashes the store keeps of them.
func (s *Service) newRecoveryCodes(userID int64) (codes []string, hashes [][]byte, err error) {
	codes = make([]string, RecoveryCodeCount)
	hashes = make([][]byte, RecoveryCodeCount)
	for i := range codes {
		c, err := newRecoveryCode(s.rand)
		if err != nil {
			return nil, nil, err
		}
		n, _ := normalizeRecoveryCode(c)
		codes[i], hashes[i] = c, s.cipher.RecoveryHash(userID, n)
	}
	return codes, hashes, nil
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	return s.store.RecoveryCodesLeft(ctx, userID)
}
