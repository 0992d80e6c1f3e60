module github.com/otpgate/otpgate

go 1.26
