; agentctx tags for C++. See python.scm for the capture conventions.
; Out-of-class definitions (void Widget::draw() {}) are methods named "Widget.draw".

(function_definition
  declarator: (function_declarator declarator: (qualified_identifier) @name)) @definition.method
(function_definition
  declarator: (pointer_declarator
    declarator: (function_declarator declarator: (qualified_identifier) @name))) @definition.method
(function_definition
  declarator: (reference_declarator
    (function_declarator declarator: (qualified_identifier) @name))) @definition.method

(function_definition
  declarator: (function_declarator declarator: (_) @name)) @definition.function
(function_definition
  declarator: (pointer_declarator
    declarator: (function_declarator declarator: (_) @name))) @definition.function
(function_definition
  declarator: (reference_declarator
    (function_declarator declarator: (_) @name))) @definition.function

(class_specifier name: (_) @name body: (_)) @definition.class
(struct_specifier name: (_) @name body: (_)) @definition.struct
(union_specifier name: (_) @name body: (_)) @definition.struct
(enum_specifier name: (_) @name body: (_)) @definition.enum
(namespace_definition name: (_) @name body: (_)) @definition.namespace

(type_definition
  type: (struct_specifier !name body: (_))
  declarator: (type_identifier) @name) @definition.struct
(type_definition
  type: (enum_specifier !name body: (_))
  declarator: (type_identifier) @name) @definition.enum

; calls
(call_expression function: (identifier) @reference.call)
(call_expression function: (field_expression field: (field_identifier) @reference.call))
(call_expression function: (qualified_identifier name: (identifier) @reference.call))
(call_expression function: (template_function name: (identifier) @reference.call))
(call_expression function: (qualified_identifier name: (template_function name: (identifier) @reference.call)))

; types
(type_identifier) @reference.type
(qualified_identifier scope: (namespace_identifier) @reference.type
  (#match? @reference.type "^[A-Z]"))

; includes
(preproc_include path: (string_literal (string_content) @reference.import))
(preproc_include path: (system_lib_string) @reference.import)

(comment) @comment
