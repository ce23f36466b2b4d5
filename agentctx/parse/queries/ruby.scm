; agentctx tags for Ruby. See python.scm for the capture conventions.
; `def` directly in a class or module is a method, at top level a function.

(class name: [(constant) (scope_resolution)] @name) @definition.class
(module name: [(constant) (scope_resolution)] @name) @definition.module
(method name: (_) @name) @definition.method
(singleton_method name: (_) @name) @definition.method

; calls: receiver.method, method(args), bare identifiers as statements
(call method: (identifier) @reference.call)
(body_statement (identifier) @reference.call)

; constants: classes, modules, superclasses, Foo::Bar
(constant) @reference.type

; require "json" / require_relative "helper"
((call
  method: (identifier) @_require
  arguments: (argument_list (string (string_content) @reference.import)))
  (#match? @_require "^(require|require_relative|load)$"))

(comment) @comment
