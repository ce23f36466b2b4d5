; agentctx tags for Python.
; Conventions (all query files): @definition.<kind> marks the definition node and
; @name its name; @reference.<kind> marks the referenced identifier itself;
; @comment marks comments (used for leading doc comments). Captures starting with
; "_" only feed predicates. For one node, the first matching definition pattern wins.

(class_definition name: (identifier) @name) @definition.class

(function_definition name: (identifier) @name) @definition.function

; calls and decorators
(call function: (identifier) @reference.call)
(call function: (attribute attribute: (identifier) @reference.call))
(decorator (identifier) @reference.call)
(decorator (attribute attribute: (identifier) @reference.call))

; base classes
(class_definition
  superclasses: (argument_list [
    (identifier) @reference.type
    (attribute attribute: (identifier) @reference.type)
  ]))

; annotations: Foo, mod.Foo, list[Foo], Foo | None
(type (identifier) @reference.type)
(type (attribute attribute: (identifier) @reference.type))
(type (generic_type (identifier) @reference.type))
(type (binary_operator [
  (identifier) @reference.type
  (attribute attribute: (identifier) @reference.type)
]))
(type (binary_operator (binary_operator (identifier) @reference.type)))

; imports
(import_statement name: (dotted_name (identifier) @reference.import))
(import_statement name: (aliased_import name: (dotted_name (identifier) @reference.import)))
(import_from_statement module_name: (dotted_name (identifier) @reference.import))
(import_from_statement module_name: (relative_import (dotted_name (identifier) @reference.import)))
(import_from_statement name: (dotted_name (identifier) @reference.import))
(import_from_statement name: (aliased_import name: (dotted_name (identifier) @reference.import)))

(comment) @comment
