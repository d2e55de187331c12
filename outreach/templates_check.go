package outreach

import (
	"fmt"
	"reflect"
	"strings"
	"text/template"
	"text/template/parse"
)

// checkFieldNames walks a parsed template and refuses any field that Data
// does not have, in every branch: executing against a sample only visits the
// branches the sample takes. It follows the dot through with and range; a
// field reached through a function or a variable other than $ is not checked.
func checkFieldNames(tm *template.Template, path string) error {
	if tm.Tree == nil || tm.Tree.Root == nil {
		return nil
	}
	c := fieldChecker{tree: tm.Tree, path: path, root: reflect.TypeOf(Data{})}
	c.walk(tm.Tree.Root, c.root)
	return c.err
}

type fieldChecker struct {
	tree *parse.Tree
	path string
	root reflect.Type
	err  error
}

// walk checks n with dot of type dot (nil: unknown, not checked).
func (c *fieldChecker) walk(n parse.Node, dot reflect.Type) {
	if c.err != nil || n == nil {
		return
	}
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, x := range n.Nodes {
			c.walk(x, dot)
		}
	case *parse.ActionNode:
		c.pipe(n.Pipe, dot)
	case *parse.IfNode:
		c.pipe(n.Pipe, dot)
		c.walk(n.List, dot)
		c.walk(n.ElseList, dot)
	case *parse.WithNode:
		t := c.pipe(n.Pipe, dot)
		c.walk(n.List, t)
		c.walk(n.ElseList, dot)
	case *parse.RangeNode:
		t := c.pipe(n.Pipe, dot)
		var elem reflect.Type
		if t != nil {
			switch t.Kind() {
			case reflect.Slice, reflect.Array, reflect.Map, reflect.Chan:
				elem = t.Elem()
			}
		}
		c.walk(n.List, elem)
		c.walk(n.ElseList, dot)
	case *parse.TemplateNode:
		c.pipe(n.Pipe, dot)
	}
}

// pipe checks a pipeline and returns the type it yields, nil when unknown.
func (c *fieldChecker) pipe(p *parse.PipeNode, dot reflect.Type) reflect.Type {
	if p == nil {
		return nil
	}
	var t reflect.Type
	for _, cmd := range p.Cmds {
		t = c.command(cmd, dot)
	}
	return t // with and range set the dot to it, declared variables or not
}

func (c *fieldChecker) command(cmd *parse.CommandNode, dot reflect.Type) reflect.Type {
	var first reflect.Type
	for i, arg := range cmd.Args {
		t := c.arg(arg, dot)
		if i == 0 {
			first = t
		}
	}
	if len(cmd.Args) == 1 {
		return first
	}
	return nil // a function call, or a method with arguments
}

func (c *fieldChecker) arg(n parse.Node, dot reflect.Type) reflect.Type {
	switch n := n.(type) {
	case *parse.DotNode:
		return dot
	case *parse.FieldNode:
		return c.chain(n, dot, n.Ident, n.String())
	case *parse.VariableNode:
		if n.Ident[0] == "$" {
			return c.chain(n, c.root, n.Ident[1:], n.String())
		}
	case *parse.ChainNode:
		if p, ok := n.Node.(*parse.PipeNode); ok {
			return c.chain(n, c.pipe(p, dot), n.Field, n.String())
		}
	case *parse.PipeNode:
		return c.pipe(n, dot)
	}
	return nil
}

// chain follows the field names from t, recording the first unknown one.
func (c *fieldChecker) chain(n parse.Node, t reflect.Type, idents []string, text string) reflect.Type {
	for _, id := range idents {
		if t == nil || c.err != nil {
			return nil
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if m, ok := reflect.PointerTo(t).MethodByName(id); ok {
			if m.Type.NumOut() == 0 {
				return nil
			}
			t = m.Type.Out(0)
			continue
		}
		switch t.Kind() {
		case reflect.Struct:
			if f, ok := t.FieldByName(id); ok && f.IsExported() {
				t = f.Type
				continue
			}
		case reflect.Map:
			t = t.Elem()
			continue
		case reflect.Interface:
			return nil
		}
		c.fail(n, text, id, t)
		return nil
	}
	return t
}

func (c *fieldChecker) fail(n parse.Node, text, id string, t reflect.Type) {
	line := 0
	if loc, _ := c.tree.ErrorContext(n); loc != "" {
		// loc is "name:line:col"
		parts := strings.Split(loc, ":")
		if len(parts) >= 3 {
			fmt.Sscan(parts[len(parts)-2], &line)
		}
	}
	what := "(unknown field; see the fields in the README of the templates folder)"
	switch t {
	case reflect.TypeOf(Data{}):
	case reflect.TypeOf(Person{}):
		what = "(unknown field of a person: Name, FirstName, Email, Org, Role)"
	default:
		what = fmt.Sprintf("(a %s has no fields)", t)
	}
	c.err = fmt.Errorf("template %s:%d: <%s>: can't evaluate field %s %s", c.path, line, text, id, what)
}
