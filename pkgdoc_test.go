// Package otpgate_test holds checks over the whole module.
package otpgate_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestDocComments checks that every package has a doc comment and that every
// exported name outside tests has one that starts with the name, as
// STYLE.md asks.
func TestDocComments(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata") {
			return filepath.SkipDir
		}
		for _, p := range checkDir(path) {
			t.Error(p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDocCommentCheck runs the check on sources that break each rule, and
// on one that keeps them all.
func TestDocCommentCheck(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // a part of each problem, in order
	}{
		{"good", `// Package p is good.
package p

// T is a type.
type T int

// M is a method.
func (T) M() {}

// F is a function.
func F() {}

// Two is two; One is one.
var One, Two = 1, 2

// Kinds of things, in a group: its items need no comment of their own.
const (
	A = iota
	// B is documented on its own.
	B
)

// unexported needs nothing.
func unexported() {}

type hidden int

func (hidden) Exported() {}
`, nil},
		{"no package doc", "package p\n", []string{"package p (dir) has no doc comment"}},
		{"no doc", "// Package p.\npackage p\n\nfunc F() {}\n\ntype T int\n\nfunc (T) M() {}\n",
			[]string{"exported F has no doc comment", "exported T has no doc comment", "exported M has no doc comment"}},
		{"wrong start", `// Package p.
package p

// Returns nothing.
func F() {}

// A T is a type.
type T int

// Method M does nothing.
func (T) M() {}

// Variable is a variable.
var V = 1

// FF is a prefix, not the name.
func F2() {}
`, []string{`doc comment of F should start with "F "`, `doc comment of T should start with "T "`,
			`doc comment of M should start with "M "`, `doc comment of V should start with "V "`,
			`doc comment of F2 should start with "F2 "`}},
		{"members", `// Package p.
package p

// S is a struct.
type S struct {
	// A is documented.
	A int
	B int // a line comment is not a doc comment
	// C and D are documented together.
	D, C int
	// Wrong is not the name.
	E int
	// unexported is not checked.
	f int
}

// I is an interface.
type I interface {
	// M does nothing.
	M()
	// Does nothing.
	N()
}

type hidden struct {
	// Not checked.
	X int
}
`, []string{`doc comment of E should start with "E "`, `doc comment of N should start with "N "`}},
		{"package doc", "// This package is p.\npackage p\n", []string{`package doc comment should start with "Package p "`}},
		{"command doc", "// Command other is another.\npackage main\n", []string{`package doc comment should start with "Command dir "`}},
		{"group items", `// Package p.
package p

const (
	// Wrong is not the name.
	C = 1
)

var (
	D = 1
)
`, []string{`doc comment of C should start with "C "`, "exported D has no doc comment"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "dir")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			got := checkDir(dir)
			ok := len(got) == len(tc.want)
			for i := 0; ok && i < len(got); i++ {
				ok = strings.Contains(got[i], tc.want[i])
			}
			if !ok {
				t.Errorf("checkDir() = %q, want problems containing %q", got, tc.want)
			}
		})
	}
}

// checkDir parses the non-test Go files of dir and returns the problems
// with their doc comments.
func checkDir(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	fset := token.NewFileSet()
	hasDoc := map[string]bool{} // by package name
	var names []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		pkg := f.Name.Name
		if _, seen := hasDoc[pkg]; !seen {
			names = append(names, pkg)
		}
		hasDoc[pkg] = hasDoc[pkg] || f.Doc != nil
		if f.Doc != nil {
			// "Package name ..." or, for a command, "Command name ..."
			// after its directory.
			want := "Package " + pkg
			if pkg == "main" {
				want = "Command " + filepath.Base(dir)
			}
			if !startsWith(f.Doc.Text(), want) {
				first, _, _ := strings.Cut(f.Doc.Text(), "\n")
				problems = append(problems, fset.Position(f.Package).String()+`: package doc comment should start with "`+want+` ": `+first)
			}
		}
		problems = append(problems, checkFile(fset, f)...)
	}
	slices.Sort(names)
	for _, pkg := range names {
		if !hasDoc[pkg] {
			problems = append(problems, "package "+pkg+" ("+filepath.Base(dir)+") has no doc comment")
		}
	}
	return problems
}

// checkFile returns the problems with the doc comments of the exported
// names of f. A name declared alone, or with a comment of its own, needs a
// comment starting with the name; a name in a commented group, such as a
// list of constants, may share the group's comment.
func checkFile(fset *token.FileSet, f *ast.File) []string {
	if f.Name.Name == "main" {
		return nil // a command's exported names are not an API
	}
	var problems []string
	report := func(pos token.Pos, name string, doc *ast.CommentGroup, own bool) {
		if !ast.IsExported(name) {
			return
		}
		switch {
		case doc == nil:
			problems = append(problems, fset.Position(pos).String()+": exported "+name+" has no doc comment")
		case own && !startsWith(doc.Text(), name):
			first, _, _ := strings.Cut(doc.Text(), "\n")
			problems = append(problems, fset.Position(pos).String()+": doc comment of "+name+` should start with "`+name+` ": `+first)
		}
	}
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if d.Recv != nil && !exportedRecv(d.Recv) {
				continue
			}
			report(d.Pos(), d.Name.Name, d.Doc, true)
		case *ast.GenDecl:
			grouped := d.Lparen.IsValid()
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					doc, own := s.Doc, s.Doc != nil || !grouped
					if doc == nil {
						doc = d.Doc
					}
					report(s.Pos(), s.Name.Name, doc, own)
					if ast.IsExported(s.Name.Name) {
						problems = append(problems, checkMembers(fset, s.Type)...)
					}
				case *ast.ValueSpec:
					doc, own := s.Doc, s.Doc != nil || !grouped
					if doc == nil {
						doc = d.Doc
					}
					if own && len(s.Names) > 1 {
						// "One and Two are ..." or "Two is two; One is
						// one": one of the names starts it.
						for _, n := range s.Names {
							if ast.IsExported(n.Name) && doc != nil && startsWith(doc.Text(), n.Name) {
								own = false
							}
						}
					}
					for _, n := range s.Names {
						report(n.Pos(), n.Name, doc, own)
					}
				}
			}
		}
	}
	return problems
}

// checkMembers returns the problems with the doc comments of the exported
// fields of a struct type or methods of an interface type: they need none,
// but one they have starts with one of the names it documents.
func checkMembers(fset *token.FileSet, typ ast.Expr) []string {
	var fields *ast.FieldList
	switch t := typ.(type) {
	case *ast.StructType:
		fields = t.Fields
	case *ast.InterfaceType:
		fields = t.Methods
	default:
		return nil
	}
	var problems []string
	for _, field := range fields.List {
		if field.Doc == nil || len(field.Names) == 0 {
			continue
		}
		var exported []string
		ok := false
		for _, n := range field.Names {
			if ast.IsExported(n.Name) {
				exported = append(exported, n.Name)
				ok = ok || startsWith(field.Doc.Text(), n.Name)
			}
		}
		if len(exported) > 0 && !ok {
			first, _, _ := strings.Cut(field.Doc.Text(), "\n")
			problems = append(problems, fset.Position(field.Pos()).String()+": doc comment of "+strings.Join(exported, ", ")+
				` should start with "`+exported[0]+` ": `+first)
		}
	}
	return problems
}

// startsWith reports whether text starts with the word name.
func startsWith(text, name string) bool {
	rest, ok := strings.CutPrefix(text, name)
	if !ok {
		return false
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return rest == "" || !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_')
}

// exportedRecv reports whether a method's receiver type is exported.
func exportedRecv(fl *ast.FieldList) bool {
	if len(fl.List) == 0 {
		return false
	}
	typ := fl.List[0].Type
	for {
		switch x := typ.(type) {
		case *ast.StarExpr:
			typ = x.X
		case *ast.IndexExpr:
			typ = x.X
		case *ast.IndexListExpr:
			typ = x.X
		case *ast.Ident:
			return ast.IsExported(x.Name)
		default:
			return false
		}
	}
}
