"""The push editor: the form and its content, the media it uses, the audience preview and dry runs."""
