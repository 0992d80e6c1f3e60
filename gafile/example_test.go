package gafile_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/otpgate/otpgate/gafile"
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
