package gafile_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/otpgate/otpgate/gafile"
	"github.com/otpgate/otpgate/otp"
)

func ExampleFile_Verify() {
	f, err := gafile.Parse([]byte("2SH3V3GDW7ZNMGYE\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Unix(300000, 0)
	res, err := f.Verify("050548", now, gafile.Options{})
	fmt.Println(res.Method, res.Step, err)

	_, err = f.Verify("050548", now, gafile.Options{})
	fmt.Println(errors.Is(err, gafile.ErrReused))

	fmt.Printf("%s", f.Bytes())
	// Output:
	// time-based code 10000 <nil>
	// true
	// 2SH3V3GDW7ZNMGYE
	// " DISALLOW_REUSE 10000
	// " TOTP_AUTH
}

func ExampleNew() {
	secret, err := otp.DecodeSecret("2SH3V3GDW7ZNMGYE")
	if err != nil {
		fmt.Println(err)
		return
	}
	// What google-authenticator -t -d -w 3 -r 3 -R 30 -e 1 writes.
	f, err := gafile.New(gafile.Settings{
		Secret:        secret,
		DisallowReuse: true,
		WindowSize:    3,
		RateLimit:     3,
		RateTime:      30,
		ScratchCodes:  []int{84182260},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s", f.Bytes())
	// Output:
	// 2SH3V3GDW7ZNMGYE
	// " RATE_LIMIT 3 30
	// " WINDOW_SIZE 3
	// " DISALLOW_REUSE
	// " TOTP_AUTH
	// 84182260
}
