; agentctx tags for Go. See python.scm for the capture conventions.
; The receiver type of a method is read in Python (qualname "Server.Start").

(function_declaration name: (identifier) @name) @definition.function
(method_declaration name: (field_identifier) @name) @definition.method
(type_spec name: (type_identifier) @name type: (struct_type)) @definition.struct
(type_spec name: (type_identifier) @name type: (interface_type)) @definition.interface
(type_spec name: (type_identifier) @name) @definition.type
(type_alias name: (type_identifier) @name) @definition.type

; calls
(call_expression function: (identifier) @reference.call)
(call_expression function: (selector_expression field: (field_identifier) @reference.call))
(call_expression function: (parenthesized_expression (identifier) @reference.call))

; types
(type_identifier) @reference.type

; imports: the package name (last path element) or its alias
(import_spec path: (interpreted_string_literal (interpreted_string_literal_content) @reference.import))
(import_spec name: (package_identifier) @reference.import)

(comment) @comment
