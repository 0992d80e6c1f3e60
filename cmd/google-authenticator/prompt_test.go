//go:build linux

package main

import (
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otpgate/otpgate/internal/testenv"
)

// answerStreams are answers for every way through the questions, with
// answers that repeat a question and the end of the input at each one.
func answerStreams() []string {
	var streams []string
	for _, update := range []string{"y", "n"} {
		for _, reuse := range []string{"y", "n"} {
			for _, window := range []string{"Y", "N"} {
				for _, rate := range []string{"yes", "no"} {
					streams = append(streams,
						"y\n"+update+"\n"+reuse+"\n"+window+"\n"+rate+"\n", // time-based
						"n\n"+update+"\n"+window+"\n"+rate+"\n")            // counter-based
				}
			}
		}
	}
	return append(streams,
		"maybe\n\ny\nx\ny\n-1\nn\n123456\ny\nn\n",
		"y\ny\ny", "y\ny\n", "y\n", "",
	)
}

// TestStockPromptsPiped pipes the same answers to both tools with -q, so
// that they print nothing but the questions: standard output must be the
// same, byte for byte, so that a script reading the stock tool's questions
// reads ours.
func TestStockPromptsPiped(t *testing.T) {
	testenv.LookPath(t, stockTool)
	extras := [][]string{nil, {"-t", "-d"}, {"-t", "-S", "60"}, {"-c", "-W"}, {"-u"}, {"-s", `FILE "x" %s é`}}
	for _, extra := range extras {
		for i, in := range answerStreams() {
			args := append([]string{"-q", "-C"}, extra...)
			inv := invocation{args: args, stdin: in, seed: uint64(i)}
			sdir, odir := t.TempDir(), t.TempDir()
			s, o := stock(t, sdir, inv), runIn(t, odir, inv)
			sOut := strings.ReplaceAll(s.stdout, sdir, "$HOME")
			oOut := strings.ReplaceAll(o.stdout, odir, "$HOME")
			if sOut != oOut {
				t.Errorf("%q with answers %q: standard output\n%s\nstock\n%s", args, in, oOut, sOut)
			}
		}
	}
}

// ptyPrompts runs a program on a terminal and answers each question it
// asks with the next answer, as expect does: a question is what the
// program printed since the last answer, from its last blank line (a y/n
// question) or its last line (the code). It returns the questions.
func ptyPrompts(t *testing.T, cmd *exec.Cmd, answers []string) []string {
	t.Helper()
	m, s := testenv.OpenPTY(t)
	defer m.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	chunks := make(chan string)
	go func() {
		defer close(chunks)
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			if n > 0 {
				chunks <- string(buf[:n])
			}
			if err != nil {
				return // EIO once the program has exited
			}
		}
	}()
	var prompts []string
	var out strings.Builder
	timeout := time.After(20 * time.Second)
	for open := true; open; {
		select {
		case c, ok := <-chunks:
			if !ok {
				open = false
				break
			}
			out.WriteString(c)
			text := out.String()
			var prompt string
			switch {
			case strings.HasSuffix(text, " (y/n) "):
				prompt = text[strings.LastIndex(text, "\n\n")+1:]
			case strings.HasSuffix(text, "(-1 to skip): "):
				prompt = text[strings.LastIndex(text, "\n")+1:]
			default:
				continue
			}
			prompts = append(prompts, strings.TrimLeft(prompt, "\n"))
			out.Reset()
			if len(answers) == 0 {
				t.Fatalf("%s: question %q, but no answer left", cmd.Path, prompt)
			}
			io.WriteString(m, answers[0]+"\n")
			answers = answers[1:]
		case <-timeout:
			cmd.Process.Kill()
			t.Fatalf("%s: no question for 20s after %q", cmd.Path, out.String())
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%s: %v", cmd.Path, err)
	}
	if len(answers) != 0 {
		t.Errorf("%s: answers %q left over", cmd.Path, answers)
	}
	return prompts
}

// TestStockPromptsTerminal answers both tools' questions on a terminal,
// as expect does, confirmation included: the questions must be the same,
// word for word.
func TestStockPromptsTerminal(t *testing.T) {
	bin := testenv.LookPath(t, stockTool)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args    []string
		answers []string
	}{
		{nil, []string{"x", "y", "123", "-1", "maybe", "y", "y", "n", "y"}},
		{[]string{"-S", "60"}, []string{"y", "-1", "y", "n", "y", "y"}},
		{nil, []string{"n", "y", "n", "n"}},
		{[]string{"-t", "-d", "-W"}, []string{"-1", "y", "n"}},
		{[]string{"-c", "-u"}, []string{"y", "y"}},
	}
	for _, tc := range tests {
		args := append([]string{"-Q", "NONE", "-l", "a@b", "-i", "c", "-s", `ga "x" é`}, tc.args...)
		var got [2][]string
		for i, path := range []string{bin, self} {
			cmd := exec.Command(path, args...)
			cmd.Dir = t.TempDir()
			cmd.Env = []string{mainEnv + "=1", "HOME=" + cmd.Dir, "PATH=/usr/bin:/bin"}
			got[i] = ptyPrompts(t, cmd, tc.answers)
			if _, err := os.Stat(filepath.Join(cmd.Dir, `ga "x" é`)); err != nil {
				t.Errorf("%s %q: no file written (%v)", path, args, err)
			}
		}
		if strings.Join(got[0], "\x00") != strings.Join(got[1], "\x00") {
			t.Errorf("%q answering %q: questions\n%q\nstock\n%q", args, tc.answers, got[1], got[0])
		}
	}
}

// TestKilled kills the command (this test binary running main) with
// SIGKILL at random moments while it writes its file, 100 times: the file
// is absent or whole, never torn, and FILE~, which would stop the next run
// as the stock tool's does, is never left with part of the content. The
// content has no name until it is complete, so FILE~ is left only by a
// kill between naming it and renaming it (a few microseconds).
func TestKilled(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "ga")
	start := func() *exec.Cmd {
		cmd := exec.Command(self, "-t", "-d", "-f", "-u", "-W", "-C", "-q", "-s", file)
		cmd.Env = []string{mainEnv + "=1", "HOME=/nonexistent"}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	whole := regexp.MustCompile(`^[A-Z2-7]{32}\n" WINDOW_SIZE 3\n" DISALLOW_REUSE\n" TOTP_AUTH\n([0-9]{8}\n){5}$`)
	begin := time.Now()
	if err := start().Wait(); err != nil {
		t.Fatal(err)
	}
	run := time.Since(begin)
	rng := rand.New(rand.NewPCG(3, 4))
	written, left := 0, 0
	for range 100 {
		os.Remove(file)
		os.Remove(file + "~")
		cmd := start()
		time.Sleep(time.Duration(rng.Int64N(int64(run))))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		for _, p := range []string{file, file + "~"} {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			if !whole.Match(b) {
				t.Fatalf("after a kill, %s holds %q", p, b)
			}
			if p == file {
				written++
			} else {
				left++
			}
		}
	}
	t.Logf("one run takes %v; of 100 killed runs, %d wrote the file, %d left %s~", run, written, left, file)
}
